package dev.kiln.ingestion.image;

import java.io.IOException;

/** Thrown by {@link MeteredInputStream} as soon as an object has more bytes than allowed. */
final class ObjectTooLargeException extends IOException {
    ObjectTooLargeException(long limit) {
        super("more than " + limit + " bytes (the limit)");
    }
}
