// Test target placeholder (issue 21).
