"""Organisation 组织: institutions, teams, agents, ranks, bloodline and the team workflow;
who belongs where on any date."""
