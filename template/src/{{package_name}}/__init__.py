"""The application: FastAPI routes over services, a unit of work and repositories."""
