"""metrics-api: organizations, metric catalog, observations, equity, targets, benchmarks, scoring."""

from __future__ import annotations

from k12shared.app import create_service_app
from k12_metrics.catalog.router import router as catalog_router
from k12_metrics.frameworks.router import router as frameworks_router
from k12_metrics.orgs.router import internal as orgs_internal
from k12_metrics.orgs.router import router as orgs_router
from k12_metrics.scoring.router import internal as scoring_internal
from k12_metrics.scoring.router import router as scoring_router
from k12_metrics.targets.router import router as targets_router
from k12_metrics.equity.router import router as equity_router
from k12_metrics.benchmarks.router import router as benchmarks_router
from k12_metrics.scorecard.router import router as scorecard_router

app = create_service_app(
    "metrics-api",
    title="K12 Perform metrics API",
    description="Organizations, the metric catalog, observations, equity gaps, targets, benchmarks and accountability scores.",
    routers=[orgs_router, orgs_internal, catalog_router, frameworks_router, scoring_router, scoring_internal, targets_router,
             equity_router, benchmarks_router, scorecard_router],
    openapi_tags=[
        {"name": "targets", "description": "Targets and trajectories (linear, stepped, explicit points) for a metric or an equity gap; each period judged on or off track, red / amber / green."},
        {"name": "equity", "description": "Equity gaps: each student group against a reference group, over the years; small groups suppressed."},
        {"name": "benchmarks", "description": "Where an organization stands among its peers: percentile, median and quartiles."},
        {"name": "scorecard", "description": "A balanced scorecard: student achievement, equity, attendance and engagement, operations and finance."},
    ],
)
