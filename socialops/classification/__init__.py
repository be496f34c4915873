"""Classifying mentions: owning department, urgency and sentiment, explained."""
