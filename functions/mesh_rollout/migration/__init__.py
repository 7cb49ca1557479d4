"""Migration off App Mesh: the same topology on VPC Lattice (LatticeRolloutStateMachine)."""
