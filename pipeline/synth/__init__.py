"""The synthetic note generator and its template data."""
