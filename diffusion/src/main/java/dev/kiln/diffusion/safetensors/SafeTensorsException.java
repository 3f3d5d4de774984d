package dev.kiln.diffusion.safetensors;

/** A safetensors file that cannot be read or written; the message names the file and, where known, the tensor. */
public class SafeTensorsException extends RuntimeException {

    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
