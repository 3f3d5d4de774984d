package dev.kiln.model.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** Where an image's caption came from. On the wire: lower-case words joined by {@code -}, e.g. {@code class-tokens}. */
public enum CaptionSource {
    /** A sidecar file next to the image ({@code .txt}, {@code .caption}). */
    SIDECAR,
    /** The subset folder's class tokens (sd-scripts' fallback when an image has no caption file). */
    CLASS_TOKENS,
    /** An ONNX image tagger. */
    TAGGER;

    /** The JSON form. */
    @JsonValue
    public String wire() {
        return WireNames.of(this);
    }

    /** Parses the JSON form; an unknown value gives an error listing the allowed ones. */
    @JsonCreator
    public static CaptionSource fromWire(String wire) {
        return WireNames.parse(CaptionSource.class, wire);
    }
}
