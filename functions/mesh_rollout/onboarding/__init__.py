"""Putting services on a mesh: the MeshRolloutStateMachine's plan, App Mesh convergence and Envoy injection."""
