"""One turn of the agent: the loop (a generator of Events), the state the turn owns, and one tool call."""
