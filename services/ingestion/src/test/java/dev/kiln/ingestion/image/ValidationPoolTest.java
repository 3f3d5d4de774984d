package dev.kiln.ingestion.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ValidationPoolTest {

    @Test
    void badUploadsInBetweenDoNotStopGoodOnes() throws Exception {
        List<UploadCorpus.Upload> good = UploadCorpus.good();
        List<UploadCorpus.Upload> bad = UploadCorpus.bad();
        List<UploadCorpus.Upload> batch = new ArrayList<>();
        for (int i = 0; i < Math.max(good.size(), bad.size()); i++) {
            batch.add(bad.get(i % bad.size()));
            batch.add(good.get(i % good.size()));
        }
        List<CompletableFuture<ValidationResult>> futures = new ArrayList<>();
        try (ValidationPool pool = new ValidationPool(new ImageValidator(), ImageLimits.DEFAULT, 2, 2)) {
            for (UploadCorpus.Upload upload : batch) {
                futures.add(pool.submit(upload.key(), upload.bytes().length, () -> new ByteArrayInputStream(upload.bytes())));
            }
            for (int i = 0; i < batch.size(); i++) {
                UploadCorpus.Upload upload = batch.get(i);
                ValidationResult result = futures.get(i).get(30, TimeUnit.SECONDS);
                if (upload.expected() == null) {
                    assertInstanceOf(ValidationResult.Accepted.class, result, upload.name() + ": " + result);
                } else {
                    assertEquals(upload.expected(), assertInstanceOf(Rejection.class, result, upload.name()).reason(), upload.name());
                }
            }
        }
    }

    @Test
    void neverRunsMoreThanItsParallelism() throws Exception {
        AtomicInteger open = new AtomicInteger();
        AtomicInteger maxOpen = new AtomicInteger();
        byte[] png = UploadCorpus.png();
        List<CompletableFuture<ValidationResult>> futures = new ArrayList<>();
        try (ValidationPool pool = new ValidationPool(new ImageValidator(), ImageLimits.DEFAULT, 3, 1)) {
            for (int i = 0; i < 24; i++) {
                futures.add(pool.submit(Fixtures.FOLDER + i + ".png", png.length, () -> new ByteArrayInputStream(png) {
                    {
                        maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
                    }

                    @Override
                    public void close() throws IOException {
                        open.decrementAndGet();
                        super.close();
                    }
                }));
            }
            for (CompletableFuture<ValidationResult> f : futures) {
                assertInstanceOf(ValidationResult.Accepted.class, f.get(30, TimeUnit.SECONDS));
            }
        }
        assertTrue(maxOpen.get() <= 3, "open at once: " + maxOpen.get());
    }

    @Test
    void aStreamThatCannotBeOpenedFailsItsFutureOnly() throws Exception {
        byte[] png = UploadCorpus.png();
        try (ValidationPool pool = new ValidationPool(new ImageValidator(), ImageLimits.DEFAULT, 1, 0)) {
            CompletableFuture<ValidationResult> failing = pool.submit(Fixtures.FOLDER + "gone.png", -1, () -> {
                throw new IOException("no such object");
            });
            CompletableFuture<ValidationResult> next = pool.submit(Fixtures.FOLDER + "a.png", png.length, () -> new ByteArrayInputStream(png));
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> failing.get(30, TimeUnit.SECONDS));
            assertInstanceOf(UncheckedIOException.class, e.getCause());
            assertInstanceOf(ValidationResult.Accepted.class, next.get(30, TimeUnit.SECONDS));
        }
    }
}
