"""Access: who acts (actors, roles, permissions) and how they prove it (API tokens, JWTs)."""
