package dev.kiln.worker.model;

/** A base model that is missing from the bucket or does not load; the message names the object key and the problem. */
public class ModelLoadException extends RuntimeException {

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
