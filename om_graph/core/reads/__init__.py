"""The read side: what the API shows, loaded in few round trips and scoped to the actor."""
