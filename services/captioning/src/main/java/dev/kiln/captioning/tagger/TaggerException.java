package dev.kiln.captioning.tagger;

/** A tagger model or tags file that cannot be used, or an inference that failed; the message names the file. */
public class TaggerException extends RuntimeException {

    /** An error with its message. */
    public TaggerException(String message) {
        super(message);
    }

    /** An error with its message and cause. */
    public TaggerException(String message, Throwable cause) {
        super(message, cause);
    }
}
