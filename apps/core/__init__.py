"""What every app shares and no app owns: the domain error types and the API plumbing."""
