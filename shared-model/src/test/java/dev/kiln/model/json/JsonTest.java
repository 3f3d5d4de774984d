package dev.kiln.model.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonTest {

    record Sample(String name, Instant at, List<Integer> values) {
    }

    @Test
    void instantsAreIsoStringsAndNullsAreWritten() {
        String json = Json.write(new Sample(null, Instant.parse("2026-01-01T12:00:00.250Z"), List.of(1)));
        assertEquals("{\"name\":null,\"at\":\"2026-01-01T12:00:00.250Z\",\"values\":[1]}", json);
    }

    @Test
    void unknownPropertiesAreIgnored() {
        Sample s = Json.read("{\"name\":\"a\",\"extra\":{\"x\":1},\"at\":\"2026-01-01T12:00:00Z\"}", Sample.class);
        assertEquals("a", s.name());
        assertEquals(Instant.parse("2026-01-01T12:00:00Z"), s.at());
    }

    @Test
    void errorsNameTheTypeAndPath() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Json.read("{\"values\":[1,\"two\"]}", Sample.class));
        assertTrue(e.getMessage().contains("Sample") && e.getMessage().contains("$.values[1]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Json.read("{not json", Sample.class));
        assertTrue(e.getMessage().contains("Sample"), e.getMessage());
    }

    @Test
    void configureAppliesTheSameSettingsToAnotherMapper() throws Exception {
        ObjectMapper other = Json.configure(new ObjectMapper());
        Sample s = new Sample("n", Instant.parse("2026-01-01T12:00:00Z"), List.of());
        assertEquals(Json.write(s), other.writeValueAsString(s));
    }
}
