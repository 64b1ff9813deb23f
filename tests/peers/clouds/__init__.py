"""Fake clouds that follow the seeds' shapes (FastAPI apps served by uvicorn), for the connectors' tests."""
