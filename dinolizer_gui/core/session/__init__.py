"""An analysis session, shared by the viewer, the CLI and the tests: settings, the workspace, models known
by their checked files, batches (local or on a Ray cluster), the viewer's long jobs and the self-test."""
