"""The orchestrator actor: owns SwarmState and the run status (pure logic + thin shell)."""
