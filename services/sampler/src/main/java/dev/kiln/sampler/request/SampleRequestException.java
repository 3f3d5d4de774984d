package dev.kiln.sampler.request;

/**
 * A sample request that cannot be served as asked (missing job.toml or checkpoint, a model that does not load); the
 * message names the object key and the problem. The service logs it and goes on with the next request.
 */
public class SampleRequestException extends RuntimeException {

    public SampleRequestException(String message) {
        super(message);
    }

    public SampleRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}
