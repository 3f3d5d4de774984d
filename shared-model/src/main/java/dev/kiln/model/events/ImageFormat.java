package dev.kiln.model.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The format of an accepted image, from its content (not its extension). On the wire: lower-case words joined by {@code -}, e.g. {@code jpeg}. */
public enum ImageFormat {
    PNG, JPEG, WEBP, BMP;

    /** The JSON form. */
    @JsonValue
    public String wire() {
        return WireNames.of(this);
    }

    /** Parses the JSON form; an unknown value gives an error listing the allowed ones. */
    @JsonCreator
    public static ImageFormat fromWire(String wire) {
        return WireNames.parse(ImageFormat.class, wire);
    }
}
