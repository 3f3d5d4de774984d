package dev.kiln.model.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The channels of an accepted image as stored (training converts to RGB and drops alpha, as sd-scripts does). On the wire: lower-case words joined by {@code -}, e.g. {@code gray-alpha}. */
public enum ColorMode {
    /** One grey channel. */
    GRAY,
    /** Grey with alpha. */
    GRAY_ALPHA,
    /** Red, green, blue. */
    RGB,
    /** RGB with alpha. */
    RGBA,
    /** Indexed colours with a palette. */
    PALETTE,
    /** Cyan, magenta, yellow, black (JPEG). */
    CMYK;

    /** The JSON form. */
    @JsonValue
    public String wire() {
        return WireNames.of(this);
    }

    /** Parses the JSON form; an unknown value gives an error listing the allowed ones. */
    @JsonCreator
    public static ColorMode fromWire(String wire) {
        return WireNames.parse(ColorMode.class, wire);
    }
}
