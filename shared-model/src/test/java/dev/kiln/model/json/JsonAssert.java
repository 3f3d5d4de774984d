package dev.kiln.model.json;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Comparator;

/** JSON tree comparison where numbers compare by value (a parsed 48213 is an int node, a written Long a long node). */
public final class JsonAssert {

    private static final Comparator<JsonNode> BY_VALUE = (a, b) -> {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue());
        }
        return a.equals(b) ? 0 : 1;
    };

    private JsonAssert() {
    }

    public static void assertSameJson(JsonNode expected, JsonNode actual, String message) {
        assertTrue(expected.equals(BY_VALUE, actual), () -> message + "\nexpected: " + expected + "\nactual:   " + actual);
    }
}
