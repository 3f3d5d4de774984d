package dev.kiln.model.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The pipeline stage that emitted a progress event. On the wire: lower-case words joined by {@code -}, e.g. {@code training}. */
public enum Stage {
    /** Job submission and validation (ingestion service). */
    INGESTION,
    /** Dataset resolution, bucketing and step counting (ingestion service). */
    PLANNING,
    /** Latent caching (latent-cache service). */
    CACHING,
    /** The training loop (trainer service). */
    TRAINING,
    /** Sample images (sampler service). */
    SAMPLING;

    /** The JSON form. */
    @JsonValue
    public String wire() {
        return WireNames.of(this);
    }

    /** Parses the JSON form; an unknown value gives an error listing the allowed ones. */
    @JsonCreator
    public static Stage fromWire(String wire) {
        return WireNames.parse(Stage.class, wire);
    }
}
