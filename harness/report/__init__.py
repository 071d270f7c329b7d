"""The report: run folders merged into one model, written as HTML, summary.json and junit.xml."""
