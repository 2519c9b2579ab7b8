"""phishline web app: checks a URL with model-service and asks whether the answer was right."""

DISTRIBUTION = "phishline-app"
