package dev.kiln.model.events;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * The CloudEvents 1.0 attributes of a Kiln event, and their Kafka binary-mode headers exactly as SmallRye
 * Reactive Messaging writes and reads them ({@code KafkaCloudEventHelper}): {@code ce_specversion},
 * {@code ce_id}, {@code ce_type}, {@code ce_source}, {@code ce_subject}, {@code ce_time} (ISO-8601 with
 * offset), and {@code ce_datacontenttype} plus {@code content-type}. The body is the event's JSON.
 *
 * <p>Services hand these to SmallRye as {@code OutgoingCloudEventMetadata.builder().withId(id())
 * .withType(type()).withSource(source()).withSubject(subject()).withTimestamp(time().atZone(UTC))
 * .withDataContentType(dataContentType())}; plain Kafka producers (the CLI) write {@link #binaryHeaders()}.
 *
 * <p>Subject convention: the object key for storage and image events, the job id for job events.
 *
 * @param id              unique per event (a redelivered event keeps its id)
 * @param type            {@code kiln.<event>.v1}, see {@link EventType#ceType()}
 * @param source          {@code /kiln/<service>}, see {@code CloudEventSources}
 * @param subject         the object key or job id, or null
 * @param time            when the event happened
 * @param dataContentType always {@value #JSON}
 */
public record CloudEventAttributes(String id, String type, URI source, String subject, Instant time,
                                   String dataContentType) {

    public static final String SPEC_VERSION = "1.0";
    public static final String JSON = "application/json";

    public static final String HEADER_SPEC_VERSION = "ce_specversion";
    public static final String HEADER_ID = "ce_id";
    public static final String HEADER_TYPE = "ce_type";
    public static final String HEADER_SOURCE = "ce_source";
    public static final String HEADER_SUBJECT = "ce_subject";
    public static final String HEADER_TIME = "ce_time";
    public static final String HEADER_DATA_CONTENT_TYPE = "ce_datacontenttype";
    public static final String HEADER_CONTENT_TYPE = "content-type";

    public CloudEventAttributes {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(time, "time");
        dataContentType = dataContentType == null ? JSON : dataContentType;
    }

    /** Attributes for a new event with {@code body}: random id, type from the body's class, now. */
    public static CloudEventAttributes forBody(Object body, URI source, String subject) {
        return new CloudEventAttributes(UUID.randomUUID().toString(), EventType.of(body.getClass()).ceType(),
                source, subject, Instant.now(), JSON);
    }

    /** The Kafka headers of binary mode, in the order SmallRye writes them. */
    public Map<String, String> binaryHeaders() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put(HEADER_SPEC_VERSION, SPEC_VERSION);
        h.put(HEADER_ID, id);
        h.put(HEADER_TYPE, type);
        h.put(HEADER_SOURCE, source.toString());
        if (subject != null) {
            h.put(HEADER_SUBJECT, subject);
        }
        h.put(HEADER_DATA_CONTENT_TYPE, dataContentType);
        h.put(HEADER_CONTENT_TYPE, dataContentType);
        h.put(HEADER_TIME, DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(time.atOffset(ZoneOffset.UTC)));
        return h;
    }

    /** {@link #binaryHeaders()} as UTF-8 bytes, ready for a Kafka {@code ProducerRecord}. */
    public Map<String, byte[]> binaryHeaderBytes() {
        Map<String, byte[]> h = new LinkedHashMap<>();
        binaryHeaders().forEach((k, v) -> h.put(k, v.getBytes(StandardCharsets.UTF_8)));
        return h;
    }

    /**
     * Reads binary-mode headers (UTF-8 decoded).
     *
     * @throws IllegalArgumentException listing every missing or malformed header
     */
    public static CloudEventAttributes fromHeaders(Map<String, String> headers) {
        List<String> problems = problems(headers);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("not a Kiln CloudEvent in binary mode: " + String.join("; ", problems));
        }
        String contentType = headers.getOrDefault(HEADER_CONTENT_TYPE, headers.get(HEADER_DATA_CONTENT_TYPE));
        return new CloudEventAttributes(headers.get(HEADER_ID), headers.get(HEADER_TYPE),
                URI.create(headers.get(HEADER_SOURCE)), headers.get(HEADER_SUBJECT),
                OffsetDateTime.parse(headers.get(HEADER_TIME)).toInstant(), contentType);
    }

    /**
     * What is wrong with binary-mode headers for a Kiln event: missing required attributes, a spec version
     * other than 1.0, an unknown {@code ce_type}, a {@code ce_source} not under {@code /kiln/}, a
     * {@code ce_time} that is not RFC 3339, or a non-JSON content type. Empty when all is well.
     */
    public static List<String> problems(Map<String, String> headers) {
        List<String> problems = new ArrayList<>();
        for (String required : List.of(HEADER_SPEC_VERSION, HEADER_ID, HEADER_TYPE, HEADER_SOURCE, HEADER_TIME)) {
            String v = headers.get(required);
            if (v == null || v.isEmpty()) {
                problems.add("header " + required + " is missing");
            }
        }
        String spec = headers.get(HEADER_SPEC_VERSION);
        if (spec != null && !spec.equals(SPEC_VERSION)) {
            problems.add("header " + HEADER_SPEC_VERSION + " is '" + spec + "', expected " + SPEC_VERSION);
        }
        String type = headers.get(HEADER_TYPE);
        if (type != null && EventType.find(type).filter(t -> t.ceType().equals(type)).isEmpty()) {
            problems.add("header " + HEADER_TYPE + " '" + type + "' is not a Kiln event type");
        }
        String source = headers.get(HEADER_SOURCE);
        if (source != null && !source.startsWith("/kiln/")) {
            problems.add("header " + HEADER_SOURCE + " '" + source + "' does not follow /kiln/<service>");
        }
        String time = headers.get(HEADER_TIME);
        if (time != null) {
            try {
                OffsetDateTime.parse(time);
            } catch (DateTimeParseException e) {
                problems.add("header " + HEADER_TIME + " '" + time + "' is not an RFC 3339 time");
            }
        }
        String contentType = headers.getOrDefault(HEADER_CONTENT_TYPE, headers.get(HEADER_DATA_CONTENT_TYPE));
        if (contentType != null && !contentType.startsWith(JSON)) {
            problems.add("content type '" + contentType + "' is not " + JSON);
        }
        return problems;
    }

    /** Decodes Kafka header bytes as UTF-8 (as SmallRye does), the last value of a repeated header winning. */
    public static Map<String, String> decodeHeaders(Iterable<Map.Entry<String, byte[]>> headers) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> h : headers) {
            if (h.getValue() != null) {
                out.put(h.getKey(), new String(h.getValue(), StandardCharsets.UTF_8));
            }
        }
        return out;
    }
}
