using System.Buffers.Binary;

namespace Distill.Training.Objectives;

/// <summary>
/// The DPO reference pass's batches as they are scored, so that a pass interrupted by a kill or a crash resumes where it
/// stopped instead of from the first pair (on a real dataset the pass takes minutes to hours). Layout: a 16-byte header
/// ("DREF", version 1, examples, batch size; little-endian int32), then per example its chosen sum, rejected sum, chosen
/// mean and rejected mean as float32, appended and flushed one batch at a time. On open only whole batches count: a
/// torn last write is cut off, and a journal written for another dataset size or batch size (whose batches would be
/// collated differently) is started afresh. The floats are the exact ones scored, so a resumed pass gives the same bits.
/// </summary>
sealed class ReferenceJournal : IDisposable
{
    const int HeaderBytes = 16, RecordBytes = 16, Version = 1;
    static ReadOnlySpan<byte> Magic => "DREF"u8;
    readonly FileStream _file;
    readonly string _path;

    /// <summary>Examples [0, Done) already scored (read back into the caller's arrays); a multiple of the batch size, or all.</summary>
    public int Done { get; }

    ReferenceJournal(FileStream file, string path, int done) => (_file, _path, Done) = (file, path, done);

    public static ReferenceJournal Open(string path, int examples, int batchSize, ReferenceLogProbs into)
    {
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        try
        {
            Span<byte> header = stackalloc byte[HeaderBytes];
            int done = 0;
            if (file.Length >= HeaderBytes && file.Read(header) == HeaderBytes && header[..4].SequenceEqual(Magic)
                && BinaryPrimitives.ReadInt32LittleEndian(header[4..]) == Version
                && BinaryPrimitives.ReadInt32LittleEndian(header[8..]) == examples
                && BinaryPrimitives.ReadInt32LittleEndian(header[12..]) == batchSize)
            {
                long records = (file.Length - HeaderBytes) / RecordBytes;
                done = records >= examples ? examples : (int)(records / batchSize * batchSize);   // whole batches only
                var bytes = new byte[done * RecordBytes];
                file.ReadExactly(bytes);
                for (int i = 0; i < done; i++) ReadRecord(bytes.AsSpan(i * RecordBytes), into, i);
            }
            else
            {
                Magic.CopyTo(header);
                BinaryPrimitives.WriteInt32LittleEndian(header[4..], Version);
                BinaryPrimitives.WriteInt32LittleEndian(header[8..], examples);
                BinaryPrimitives.WriteInt32LittleEndian(header[12..], batchSize);
                file.Position = 0;
                file.Write(header);
            }
            file.SetLength(HeaderBytes + (long)done * RecordBytes);   // drops a torn tail
            file.Position = file.Length;
            file.Flush(flushToDisk: true);
            return new ReferenceJournal(file, path, done);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Appends examples [start, start + count) of <paramref name="r"/> in one write, flushed to the OS (a killed process loses none of it).</summary>
    public void Append(ReferenceLogProbs r, int start, int count)
    {
        var bytes = new byte[count * RecordBytes];
        for (int i = 0; i < count; i++) WriteRecord(bytes.AsSpan(i * RecordBytes), r, start + i);
        _file.Write(bytes);
        _file.Flush();
    }

    /// <summary>One example's record: chosen sum, rejected sum, chosen mean, rejected mean (float32, little-endian).</summary>
    static void WriteRecord(Span<byte> rec, ReferenceLogProbs r, int i)
    {
        BinaryPrimitives.WriteSingleLittleEndian(rec, r.ChosenSum[i]);
        BinaryPrimitives.WriteSingleLittleEndian(rec[4..], r.RejectedSum[i]);
        BinaryPrimitives.WriteSingleLittleEndian(rec[8..], r.ChosenMean[i]);
        BinaryPrimitives.WriteSingleLittleEndian(rec[12..], r.RejectedMean[i]);
    }

    static void ReadRecord(ReadOnlySpan<byte> rec, ReferenceLogProbs into, int i)
    {
        into.ChosenSum[i] = BinaryPrimitives.ReadSingleLittleEndian(rec);
        into.RejectedSum[i] = BinaryPrimitives.ReadSingleLittleEndian(rec[4..]);
        into.ChosenMean[i] = BinaryPrimitives.ReadSingleLittleEndian(rec[8..]);
        into.RejectedMean[i] = BinaryPrimitives.ReadSingleLittleEndian(rec[12..]);
    }

    /// <summary>The pass is complete and its cache written: the journal goes.</summary>
    public void Delete()
    {
        _file.Dispose();
        File.Delete(_path);
    }

    public void Dispose() => _file.Dispose();
}
