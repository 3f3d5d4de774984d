package dev.kiln.ingestion.image;

import java.io.IOException;

/** The object's own stream failed (network, storage): not the image's fault, so never a rejection. */
final class SourceReadException extends IOException {
    SourceReadException(IOException cause) {
        super(cause.getMessage(), cause);
    }
}
