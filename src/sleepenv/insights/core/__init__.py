"""The pure core of insights: factors per night, the comparisons and their wording."""
