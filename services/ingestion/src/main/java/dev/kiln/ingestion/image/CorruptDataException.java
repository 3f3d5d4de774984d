package dev.kiln.ingestion.image;

import java.io.IOException;

/** Thrown while streaming when the bytes break their format's own checks (a PNG chunk CRC, ...). */
final class CorruptDataException extends IOException {
    CorruptDataException(String message) {
        super(message);
    }
}
