"""Performance 业绩: facts, targets, monthly commission settlement, statements, KPI, assessments, rankings."""
