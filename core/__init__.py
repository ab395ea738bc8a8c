"""The foundation every stage stands on: settings, the city file, the field registry, the store and its schema,
check characters, masking, periods, working days and value normalisation. It imports no stage."""
