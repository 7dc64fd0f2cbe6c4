"""Daily LLM intent tags (RecGPT-V2): hybrid user contexts, planner -> experts -> arbiter, a judge, into Feast."""
