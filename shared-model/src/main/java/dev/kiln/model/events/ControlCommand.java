package dev.kiln.model.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** A user command to a running training ({@code kiln.training.control}). On the wire: lower-case words joined by {@code -}, e.g. {@code save-now}. */
public enum ControlCommand {
    /** Stop the job; it ends with a {@code cancelled} progress event. */
    CANCEL,
    /** Save a checkpoint now (a {@code checkpoint} progress event follows). */
    SAVE_NOW,
    /** Make sample images from the current weights now. */
    SAMPLE_NOW;

    /** The JSON form. */
    @JsonValue
    public String wire() {
        return WireNames.of(this);
    }

    /** Parses the JSON form; an unknown value gives an error listing the allowed ones. */
    @JsonCreator
    public static ControlCommand fromWire(String wire) {
        return WireNames.parse(ControlCommand.class, wire);
    }
}
