#!/usr/bin/env node
// A simulated Z-Wave controller with simulated nodes, reachable as a TCP "serial port" for zwave-js, plus a JSON-lines
// control channel so tests can drive the nodes (unsolicited reports, dead/alive, wake-up, what a node received).
//
//   node mock.mjs --nodes nodes.json [--port 0] [--control-port 0] [--host 127.0.0.1]
//
// Prints "Server listening on tcp://HOST:PORT" (serial) and "Control listening on tcp://HOST:PORT" once both are up.
// Built like zwave-js's own mock-server, but bytes from the host are re-framed before they reach the MockController:
// it expects exactly one ACK/NAK/CAN byte or one SOF frame per chunk, and TCP happily coalesces them.

import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { Faucet, ZWaveSerialFrameType } from "@zwave-js/serial";
import { createAndOpenMockedZWaveSerialPort } from "@zwave-js/serial/mock";
import { MockController, MockNode, createMockZWaveRequestFrame } from "@zwave-js/testing";
import * as Z from "zwave-js";
import { createDefaultMockControllerBehaviors, createDefaultMockNodeBehaviors } from "zwave-js/Testing";
import { ColorComponentMap } from "@zwave-js/cc";
import { ColorSwitchCCSet } from "@zwave-js/cc/ColorSwitchCC";
import { Duration } from "@zwave-js/core";

// zwave-js 15.29's ColorSwitchCCSet.from fills `this.colorTable` (`this` being the class there, not the new
// command) and throws on every Colour Switch Set a simulated node receives; real devices parse their own frames.
// Our own parse of the payload (count, then component/value pairs, then an optional duration) stands in for it.
const colourKeys = Object.fromEntries(Object.entries(ColorComponentMap).map(([key, id]) => [id, key]));
ColorSwitchCCSet.from = function (raw, ctx) {
	const count = raw.payload[0] & 0x1f;
	const table = {};
	for (let i = 0; i < count; i++) {
		const key = colourKeys[raw.payload[1 + 2 * i]];
		if (key) table[key] = raw.payload[2 + 2 * i];
	}
	const rest = 1 + 2 * count;
	const duration = raw.payload.length > rest ? Duration.parseSet(raw.payload[rest]) : undefined;
	return new this({ nodeId: ctx.sourceNodeId, ...table, duration });
};

const SOF = 0x01;
const ACK = 0x06;
const NAK = 0x15;
const CAN = 0x18;

function arg(name, fallback) {
	const i = process.argv.indexOf(name);
	return i === -1 ? fallback : process.argv[i + 1];
}

const host = arg("--host", "127.0.0.1");
const serialPort = Number(arg("--port", "0"));
const controlPort = Number(arg("--control-port", "0"));
const nodesFile = arg("--nodes");
if (!nodesFile) {
	console.error("usage: mock.mjs --nodes FILE.json [--port N] [--control-port N] [--host H]");
	process.exit(2);
}
const config = JSON.parse(readFileSync(nodesFile, "utf8"));
const nodeConfigs = Array.isArray(config) ? config : config.nodes;

// ---------------------------------------------------------------------------------------------------------------
// Per-node test state the stock behaviours do not keep: dead/asleep flags, a log of received commands, sensor values.

/** @type {Map<number, {dead: boolean, asleep: boolean, received: object[], sensors: Map<number, number>, battery: number}>} */
const extra = new Map();

function extraOf(node) {
	let e = extra.get(node.id);
	if (!e) {
		e = { dead: false, asleep: false, received: [], sensors: new Map(), battery: 100 };
		extra.set(node.id, e);
	}
	return e;
}

/** A node that is dead or asleep neither ACKs nor answers; the mock controller then reports NoAck to the driver. */
function setSilent(node) {
	const e = extraOf(node);
	node.autoAckControllerFrames = !(e.dead || e.asleep);
}

// Fields that describe the CC object rather than the command's arguments.
const INTERNAL_KEYS = new Set(["ccId", "ccCommand", "nodeId", "endpointIndex", "payload", "encapsulationFlags",
	"frameType", "origin", "version", "toggleEncapsulationFlag", "encapsulatingCC", "encapsulated"]);

function plain(value, depth = 0) {
	if (value === null || ["string", "number", "boolean"].includes(typeof value)) return value;
	if (typeof value === "bigint") return Number(value);
	if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
	if (depth > 2) return undefined;
	if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
	if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v, depth + 1)]));
	if (typeof value === "object") {
		if (typeof value.toJSON === "function") return plain(value.toJSON(), depth + 1);
		const out = {};
		for (const [k, v] of Object.entries(value)) {
			if (k.startsWith("_") || INTERNAL_KEYS.has(k) || typeof v === "function") continue;
			const p = plain(v, depth + 1);
			if (p !== undefined) out[k] = p;
		}
		return out;
	}
	return undefined;
}

/** The command's own fields (CommandClass.toJSON would only give the raw payload). */
function ccArgs(cc) {
	const out = {};
	for (const [k, v] of Object.entries(cc)) {
		if (k.startsWith("_") || INTERNAL_KEYS.has(k) || typeof v === "function") continue;
		const p = plain(v, 1);
		if (p !== undefined) out[k] = p;
	}
	return out;
}

/** First behaviour of every node: records what arrived (after Multi Channel unwrapping) and silences dead nodes. */
const recordAndGate = {
	handleCC(controller, self, cc) {
		const e = extraOf(self);
		if (e.dead || e.asleep) return { action: "stop" };
		e.received.push({ cc: cc.constructor.name, ccId: cc.ccId, command: cc.ccCommand, endpoint: cc.endpointIndex ?? 0,
			args: ccArgs(cc), at: Date.now() });
		if (e.received.length > 500) e.received.shift();
		return undefined; // let the real behaviours answer
	},
};

// The stock Binary Switch behaviour keeps one value per node, so endpoints of a Multi Channel device would share it.
const binarySwitchKey = (ep) => (ep ? `BinarySwitch_currentValue_ep${ep}` : "BinarySwitch_currentValue");
const binarySwitchPerEndpoint = {
	handleCC(controller, self, cc) {
		const ep = cc.endpointIndex ?? 0;
		if (cc instanceof Z.BinarySwitchCCSet) {
			self.state.set(binarySwitchKey(ep), cc.targetValue);
			return { action: "ok" };
		}
		if (cc instanceof Z.BinarySwitchCCGet) {
			const caps = self.getCCCapabilities(0x25, ep) ?? {};
			const currentValue = self.state.get(binarySwitchKey(ep)) ?? caps.defaultValue ?? false;
			return { action: "sendCC", cc: new Z.BinarySwitchCCReport({ nodeId: controller.ownNodeId, currentValue }) };
		}
	},
};

// zwave-js ships no mock Battery or Wake Up behaviours; without them the interview waits for timeouts.
const battery = {
	handleCC(controller, self, cc) {
		if (cc instanceof Z.BatteryCCGet) {
			const level = extraOf(self).battery;
			return { action: "sendCC", cc: new Z.BatteryCCReport({ nodeId: controller.ownNodeId, level, isLow: level < 10 }) };
		}
	},
};

// The stock Notification behaviours answer only the "supported" queries; zwave-js also asks for the current status.
const notificationGet = {
	handleCC(controller, self, cc) {
		if (cc instanceof Z.NotificationCCGet && cc.notificationType !== undefined) {
			const notificationEvent = self.state.get(`Notification_${cc.notificationType}`) ?? 0; // 0 = idle
			return { action: "sendCC", cc: new Z.NotificationCCReport({ nodeId: controller.ownNodeId,
				notificationType: cc.notificationType, notificationEvent, notificationStatus: 0xff }) };
		}
	},
};

/** Big-endian 24-bit number, as Wake Up CC encodes its intervals. */
const u24 = (n) => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

// WakeUpCCIntervalReport and ...CapabilitiesReport cannot serialize themselves (zwave-js only ever parses them), so
// they are built with an explicit payload, which the CommandClass base class serializes verbatim.
const wakeUp = {
	handleCC(controller, self, cc) {
		if (cc instanceof Z.WakeUpCCIntervalGet) {
			const wakeUpInterval = self.state.get("WakeUp_interval") ?? 3600;
			const controllerNodeId = controller.ownNodeId;
			return { action: "sendCC", cc: new Z.WakeUpCCIntervalReport({ nodeId: controllerNodeId, wakeUpInterval,
				controllerNodeId, payload: Uint8Array.from([...u24(wakeUpInterval), controllerNodeId]) }) };
		}
		if (cc instanceof Z.WakeUpCCIntervalSet) {
			self.state.set("WakeUp_interval", cc.wakeUpInterval);
			return { action: "ok" };
		}
		if (cc instanceof Z.WakeUpCCIntervalCapabilitiesGet) {
			const caps = { minWakeUpInterval: 60, maxWakeUpInterval: 86400, defaultWakeUpInterval: 3600,
				wakeUpIntervalSteps: 60, wakeUpOnDemandSupported: false };
			const payload = Uint8Array.from([...u24(60), ...u24(86400), ...u24(3600), ...u24(60)]);
			return { action: "sendCC",
				cc: new Z.WakeUpCCIntervalCapabilitiesReport({ nodeId: controller.ownNodeId, ...caps, payload }) };
		}
		if (cc instanceof Z.WakeUpCCNoMoreInformation) {
			// Back to sleep once the driver is done; frames from now on go unanswered until the next wake-up.
			// The ACK for this very frame is already on its way (auto-ACK happens before behaviours run).
			extraOf(self).asleep = true;
			setSilent(self);
			return { action: "stop" };
		}
	},
};

// ---------------------------------------------------------------------------------------------------------------
// Controller and nodes

const { serial, port: mockPort } = await createAndOpenMockedZWaveSerialPort();
const controller = await MockController.create({ homeId: 0x7e570001, ownNodeId: 1, ...(config.controller ?? {}),
	mockPort, serial });
controller.defineBehavior(...createDefaultMockControllerBehaviors());

/** @type {Map<number, MockNode>} */
const nodes = new Map();
for (const nodeConfig of nodeConfigs) {
	const { sleeping, batteryLevel, ...options } = nodeConfig;
	const node = await MockNode.create({ ...options, controller });
	controller.addNode(node);
	// Each defineBehavior call puts its behaviours in front of the earlier ones, so ours override the stock ones and
	// the recorder/gate sees every command first.
	node.defineBehavior(...createDefaultMockNodeBehaviors());
	node.defineBehavior(battery, wakeUp, notificationGet, binarySwitchPerEndpoint);
	node.defineBehavior(recordAndGate);
	// Multilevel Sensor values come from a callback in the capabilities; JSON cannot hold one, so read them from state.
	for (const holder of [node, ...node.endpoints.values()]) {
		const info = holder.implementedCCs.get(0x31);
		if (info) info.getValue = (type) => extraOf(node).sensors.get(type) ?? 20;
	}
	if (typeof batteryLevel === "number") extraOf(node).battery = batteryLevel;
	if (sleeping) {
		extraOf(node).asleep = true;
		setSilent(node);
	}
	nodes.set(node.id, node);
}

// ---------------------------------------------------------------------------------------------------------------
// Serial over TCP

const faucet = new Faucet(serial.readable);

/** Splits the host's byte stream into the units the MockController expects: one header byte or one whole frame. */
function makeFramer(deliver) {
	let buf = Buffer.alloc(0);
	return (chunk) => {
		buf = buf.length ? Buffer.concat([buf, chunk]) : Buffer.from(chunk);
		while (buf.length) {
			const first = buf[0];
			if (first === ACK || first === NAK || first === CAN) {
				deliver(buf.subarray(0, 1));
				buf = buf.subarray(1);
			} else if (first === SOF) {
				if (buf.length < 2) return;
				const total = buf[1] + 2; // SOF + length byte + (type, function, payload..., checksum)
				if (buf.length < total) return;
				deliver(buf.subarray(0, total));
				buf = buf.subarray(total);
			} else {
				console.error(`mock: dropping stray byte 0x${first.toString(16)} from host`);
				buf = buf.subarray(1);
			}
		}
	};
}

// One host at a time, like a serial port; and like a serial port whose owner died, a new host takes it over at
// once: the previous client is dropped, rather than the new one turned away until the old socket's close has
// been processed (a zwave-js server restarted right after a SIGKILL could otherwise find the port "busy").
let current = null;
const serialServer = createServer((socket) => {
	socket.setNoDelay(true);
	if (current !== null && !current.destroyed) {
		console.log("Client replaced");
		current.destroy();
	}
	current = socket;
	console.log("Client connected");
	const writable = new WritableStream({
		write(chunk) {
			if (chunk.type !== ZWaveSerialFrameType.SerialAPI || socket.destroyed) return;
			socket.write(typeof chunk.data === "number" ? Uint8Array.from([chunk.data]) : chunk.data);
		},
	});
	faucet.connect(writable);
	// Writes are chained so frames reach the controller in order even though writeAsync is asynchronous.
	let pending = Promise.resolve();
	const framer = makeFramer((frame) => {
		const copy = Uint8Array.from(frame);
		pending = pending.then(() => serial.writeAsync(copy)).catch((e) => console.error("mock: write failed", e));
	});
	socket.on("data", framer);
	socket.on("error", (e) => console.error("mock: serial socket error", e.message));
	socket.on("close", () => {
		if (current === socket) {
			faucet.disconnect();
			current = null;
		}
		void writable.close().catch(() => {});
		console.log("Client disconnected");
	});
});

// ---------------------------------------------------------------------------------------------------------------
// Control channel: one JSON object per line in, one JSON object per line out ({id, ok, result|error}).

function nodeOf(req) {
	const node = nodes.get(Number(req.node));
	if (!node) throw new Error(`no mock node ${req.node}`);
	return node;
}

/** Builds the report CC a node sends on its own, e.g. after a local button press or a new measurement. */
function buildReport(node, req) {
	const nodeId = controller.ownNodeId;
	const ep = Number(req.endpoint ?? 0);
	switch (req.kind) {
		case "binary_switch":
			node.state.set(binarySwitchKey(ep), !!req.value);
			return new Z.BinarySwitchCCReport({ nodeId, currentValue: !!req.value });
		case "multilevel_switch":
			node.state.set("MultilevelSwitch_currentValue", Number(req.value));
			return new Z.MultilevelSwitchCCReport({ nodeId, currentValue: Number(req.value), targetValue: Number(req.value) });
		case "multilevel_sensor": {
			const type = Number(req.sensor_type ?? 1); // 1 = Air temperature
			extraOf(node).sensors.set(type, Number(req.value));
			return new Z.MultilevelSensorCCReport({ nodeId, type, scale: Number(req.scale ?? 0), value: Number(req.value) });
		}
		case "binary_sensor":
			return new Z.BinarySensorCCReport({ nodeId, type: Number(req.sensor_type ?? 255), value: !!req.value });
		case "notification":
			node.state.set(`Notification_${Number(req.type)}`, Number(req.event));
			return new Z.NotificationCCReport({ nodeId, notificationType: Number(req.type),
				notificationEvent: Number(req.event), ...(req.event_parameters ? { eventParameters: Buffer.from(req.event_parameters, "hex") } : {}) });
		case "meter":
			return new Z.MeterCCReport({ nodeId, type: Number(req.meter_type ?? 1), scale: Number(req.scale ?? 0),
				value: Number(req.value), rateType: Number(req.rate_type ?? 1) });
		case "battery":
			extraOf(node).battery = Number(req.value);
			return new Z.BatteryCCReport({ nodeId, level: Number(req.value), isLow: Number(req.value) < 10 });
		case "door_lock": {
			const mode = Number(req.value); // 0 = unsecured, 255 = secured
			node.state.set("DoorLock_currentMode", mode);
			return new Z.DoorLockCCOperationReport({ nodeId, currentMode: mode, targetMode: mode, duration: undefined,
				outsideHandlesCanOpenDoor: [false, false, false, false], insideHandlesCanOpenDoor: [false, false, false, false],
				lockTimeout: undefined, latchStatus: "closed", boltStatus: mode === 255 ? "locked" : "unlocked",
				doorStatus: "closed" });
		}
		default:
			throw new Error(`unknown report kind ${req.kind}`);
	}
}

/** Sends a CC from a node to the controller, wrapped in Multi Channel when it comes from an endpoint. */
async function sendFromNode(node, cc, endpoint) {
	if (endpoint) {
		cc = new Z.MultiChannelCCCommandEncapsulation({ nodeId: controller.ownNodeId, endpointIndex: endpoint,
			destination: 0, encapsulated: cc });
	}
	await node.sendToController(createMockZWaveRequestFrame(cc, { ackRequested: true }));
}

const handlers = {
	ping: () => "pong",
	nodes: () => [...nodes.keys()],
	async report(req) {
		const node = nodeOf(req);
		await sendFromNode(node, buildReport(node, req), Number(req.endpoint ?? 0));
		return true;
	},
	dead(req) {
		const node = nodeOf(req);
		extraOf(node).dead = req.dead !== false;
		setSilent(node);
		return extraOf(node).dead;
	},
	async wake(req) {
		const node = nodeOf(req);
		extraOf(node).asleep = false;
		setSilent(node);
		await sendFromNode(node, new Z.WakeUpCCWakeUpNotification({ nodeId: controller.ownNodeId }), 0);
		return true;
	},
	sleep(req) {
		const node = nodeOf(req);
		extraOf(node).asleep = true;
		setSilent(node);
		return true;
	},
	received(req) {
		const node = nodeOf(req);
		const e = extraOf(node);
		return { state: plain(node.state), received: e.received, dead: e.dead, asleep: e.asleep };
	},
	clear(req) {
		extraOf(nodeOf(req)).received = [];
		return true;
	},
};

const controlServer = createServer((socket) => {
	socket.setNoDelay(true);
	let buf = "";
	socket.setEncoding("utf8");
	socket.on("data", (data) => {
		buf += data;
		let nl;
		while ((nl = buf.indexOf("\n")) !== -1) {
			const line = buf.slice(0, nl).trim();
			buf = buf.slice(nl + 1);
			if (!line) continue;
			void (async () => {
				let req = {};
				try {
					req = JSON.parse(line);
					const handler = handlers[req.op];
					if (!handler) throw new Error(`unknown op ${req.op}`);
					const result = await handler(req);
					socket.write(JSON.stringify({ id: req.id, ok: true, result }) + "\n");
				} catch (e) {
					socket.write(JSON.stringify({ id: req.id, ok: false, error: String(e?.stack ?? e) }) + "\n");
				}
			})();
		}
	});
	socket.on("error", () => {});
});

function listen(server, port) {
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen({ host, port }, () => resolve(server.address()));
	});
}

const controlAddr = await listen(controlServer, controlPort);
console.log(`Control listening on tcp://${controlAddr.address}:${controlAddr.port}`);
const serialAddr = await listen(serialServer, serialPort);
console.log(`Server listening on tcp://${serialAddr.address}:${serialAddr.port}`);

// A host that vanishes mid-transaction (zwave-server SIGKILLed) leaves MockController expectations to time out as
// rejected promises; under Node's default policy that would kill the mock, but the simulated hardware must outlive it.
process.on("unhandledRejection", (e) => console.error("mock: ignored unhandled rejection:", e?.message ?? e));
process.on("uncaughtException", (e) => console.error("mock: ignored uncaught exception:", e?.stack ?? e));

function shutdown() {
	controller.destroy();
	serialServer.close();
	controlServer.close();
	process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
