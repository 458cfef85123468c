"""Plain data and pure rules. Imports the standard library only; time comes in as an argument."""
