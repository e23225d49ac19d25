// Module placeholder: its first files are being written (issue 21).
