package diagnose

import "github.com/grupo-gad/deploy-action/internal/report"

// markers tell which phase the lines that follow come from, and whether a
// migration is running.
var markers = []Marker{
	// Build: flyctl, BuildKit and classic Docker build output.
	{Literal: "==> Building image", Phase: report.Build},
	{Literal: "=> ERROR [", Phase: report.Build},
	{Literal: "=> [", Phase: report.Build},
	{Literal: "[internal] load build definition", Phase: report.Build},
	{Literal: "Sending build context to Docker daemon", Phase: report.Build},
	{Literal: "executor failed running", Phase: report.Build},
	{Literal: "failed to solve", Phase: report.Build},
	{Literal: "Building wheel for ", Phase: report.Build},
	{Literal: "#0 building with", Phase: report.Build},

	// Release: flyctl's release command, migration tools.
	{Literal: "Running release command", Phase: report.Release},
	{Literal: "release_command", Phase: report.Release},
	{Literal: "This release will not be available until the release command succeeds", Phase: report.Release},
	{Literal: "[alembic.runtime.migration]", Phase: report.Release},
	{Literal: "alembic upgrade", Phase: report.Release},
	{Literal: "manage.py migrate", Phase: report.Release},
	{Literal: "flask db upgrade", Phase: report.Release},
	{Literal: "Running migrations", Phase: report.Release},
	{Literal: "Running upgrade ", Phase: report.Release, Migration: +1},
	{Literal: ": migrating =", Phase: report.Release, Migration: +1},
	{Literal: ": migrated (", Migration: -1},

	// Runtime: machines starting, servers listening, health checks.
	{Literal: "Updating existing machines", Phase: report.Runtime},
	{Literal: "to become healthy", Phase: report.Runtime},
	{Literal: "smoke checks", Phase: report.Runtime},
	{Literal: "Health checks", Phase: report.Runtime},
	{Literal: "health checks", Phase: report.Runtime},
	{Literal: "Preparing to run: ", Phase: report.Runtime},
	{Literal: "Starting init", Phase: report.Runtime},
	{Literal: "Starting instance", Phase: report.Runtime},
	{Literal: "Uvicorn running on", Phase: report.Runtime, Migration: -1},
	{Literal: "Application startup complete", Phase: report.Runtime, Migration: -1},
	{Literal: "Started server process", Phase: report.Runtime, Migration: -1},
	{Literal: "Booting worker with pid", Phase: report.Runtime, Migration: -1},
	{Literal: "Listening at: ", Phase: report.Runtime, Migration: -1},
}
