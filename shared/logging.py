"""Structured JSON logs (Powertools) shared by every function; never log tokens or bodies."""

from aws_lambda_powertools import Logger

logger = Logger(service="ailas")
