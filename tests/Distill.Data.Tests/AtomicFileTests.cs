namespace Distill.Data.Tests;

/// <summary>AtomicFile: the result replaces the old one whole, in a folder it creates, and no temporary file stays behind.</summary>
public class AtomicFileTests
{
    [Fact]
    public void ReplacesTheTargetAndLeavesNoTemporaryFile()
    {
        var dir = Directory.CreateTempSubdirectory("atomic").FullName;
        var target = Path.Combine(dir, "sub", "result.json");
        AtomicFile.WriteAllText(target, "{\"old\": 1}");
        AtomicFile.WriteAllText(target, "{\"new\": 2}");
        Assert.Equal("{\"new\": 2}", File.ReadAllText(target));
        Assert.Equal(["result.json"], Directory.GetFiles(Path.Combine(dir, "sub")).Select(Path.GetFileName));
    }

    [Fact]
    public void AFailedWriteKeepsThePreviousResult()
    {
        var dir = Directory.CreateTempSubdirectory("atomic").FullName;
        var target = Path.Combine(dir, "result.json");
        AtomicFile.WriteAllText(target, "previous");
        // the temporary path is taken by a folder: writing it fails before the rename
        Directory.CreateDirectory(AtomicFile.TempPath(target));
        Assert.NotNull(Record.Exception(() => AtomicFile.WriteAllText(target, "next")));   // EISDIR: UnauthorizedAccessException
        Assert.Equal("previous", File.ReadAllText(target));
    }
}
