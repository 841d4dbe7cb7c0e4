"""feedback: reviews, surveys, complaint cases, reviewer risk."""
