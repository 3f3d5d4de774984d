package dev.kiln.model.events;

/** Checks shared by the event records: a missing required field is an error that names it. */
final class Fields {

    private Fields() {
    }

    static <T> T required(T value, String event, String field) {
        if (value == null) {
            throw new IllegalArgumentException(event + ": '" + field + "' is required");
        }
        return value;
    }

    static String requiredText(String value, String event, String field) {
        if (required(value, event, field).isEmpty()) {
            throw new IllegalArgumentException(event + ": '" + field + "' must not be empty");
        }
        return value;
    }

    static long nonNegative(long value, String event, String field) {
        if (value < 0) {
            throw new IllegalArgumentException(event + ": '" + field + "' must be >= 0, got " + value);
        }
        return value;
    }
}
