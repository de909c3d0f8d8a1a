// The sandbox tests check that nothing of a run survives it, by scanning the host's processes:
// running them one at a time keeps one test's sandboxes out of another's scan.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
