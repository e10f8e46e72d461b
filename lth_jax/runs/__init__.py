"""Where a run lives and who writes it: the run layout, atomic storage of
its files and trees, the run lock, and which process writes what."""
