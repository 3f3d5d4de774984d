package dev.kiln.model.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The kind of a progress event (ARCHITECTURE §3). On the wire: lower-case words joined by {@code -}, e.g. {@code checkpoint}. */
public enum ProgressType {
    SUBMITTED, PLANNED, CACHING, STARTED, STEP, EPOCH,
    /** Carries {@code artifact}: the checkpoint's {@code s3://} URI. */
    CHECKPOINT,
    /** Carries {@code artifact}: the sample image's {@code s3://} URI. */
    SAMPLE,
    /** Terminal; carries {@code artifact}: the final model's {@code s3://} URI. */
    COMPLETED,
    /** Terminal; carries {@code message}. */
    FAILED,
    /** Terminal. */
    CANCELLED;

    /** The JSON form. */
    @JsonValue
    public String wire() {
        return WireNames.of(this);
    }

    /** True for {@code completed}, {@code failed} and {@code cancelled}: exactly one of them ends a job. */
    public boolean isTerminal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    /** True for the types whose events must carry an {@code artifact} URI. */
    public boolean carriesArtifact() {
        return this == CHECKPOINT || this == SAMPLE || this == COMPLETED;
    }

    /** Parses the JSON form; an unknown value gives an error listing the allowed ones. */
    @JsonCreator
    public static ProgressType fromWire(String wire) {
        return WireNames.parse(ProgressType.class, wire);
    }
}
