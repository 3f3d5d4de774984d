package dev.kiln.captioning.tagging;

/** A tagger model or tags CSV that cannot be used; the message names the object key and the problem. */
public class TaggerUnavailableException extends RuntimeException {
    private final String modelKey;

    public TaggerUnavailableException(String modelKey, String message, Throwable cause) {
        super(message, cause);
        this.modelKey = modelKey;
    }

    /** The {@code caption_model} object key. */
    public String modelKey() {
        return modelKey;
    }
}
