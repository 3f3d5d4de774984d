package dev.kiln.model.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.model.json.Json;
import dev.kiln.model.topics.CloudEventSources;
import dev.kiln.model.topics.Topics;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaCloudEventMetadata;
import io.smallrye.reactive.messaging.kafka.impl.ce.KafkaCloudEventHelper;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/** SmallRye's own Kafka CloudEvent reader accepts the binary-mode headers that plain producers (the CLI) write. */
class SmallRyeCloudEventCompatibilityTest {

    @Test
    void smallRyeReadsKilnBinaryHeaders() {
        TrainingControl body = new TrainingControl("cat-lora", ControlCommand.SAMPLE_NOW);
        CloudEventAttributes ce = CloudEventAttributes.forBody(body, CloudEventSources.CLI, "cat-lora");
        RecordHeaders headers = new RecordHeaders();
        ce.binaryHeaderBytes().forEach(headers::add);
        ConsumerRecord<String, String> record = new ConsumerRecord<>(Topics.TRAINING_CONTROL, 0, 0L, 0L,
                TimestampType.CREATE_TIME, 0, 0, "cat-lora", Json.write(body), headers, Optional.empty());

        assertEquals(KafkaCloudEventHelper.CloudEventMode.BINARY, KafkaCloudEventHelper.getCloudEventMode(headers));
        IncomingKafkaCloudEventMetadata<String, String> read = KafkaCloudEventHelper.createFromBinaryCloudEvent(record);
        assertEquals("1.0", read.getSpecVersion());
        assertEquals(ce.id(), read.getId());
        assertEquals("kiln.training.control.v1", read.getType());
        assertEquals(CloudEventSources.CLI, read.getSource());
        assertEquals(Optional.of("cat-lora"), read.getSubject());
        assertEquals(Optional.of("application/json"), read.getDataContentType());
        assertEquals(ce.time(), read.getTimeStamp().orElseThrow().toInstant());
        assertEquals(body, Json.read(read.getData(), TrainingControl.class));
    }
}
