// The RP2040 of the tests: npm's rp2040js running the official RPI_PICO MicroPython
// firmware, with what rp2040js leaves out and a real Cortex-M0+ does not:
//
// - every halfword or word data access at an unaligned address is counted (a real M0+
//   takes a HardFault there; rp2040js reads or writes the bytes as if nothing happened);
//   with --fault-on-unaligned the harness raises that HardFault itself;
// - every HardFault exception entry is counted, and a BKPT (what the pico-sdk's fault
//   handler executes) halts the emulation instead of spinning;
// - instructions rp2040js does not know are counted (a real M0+ faults on them), and
//   accesses to addresses rp2040js maps to nothing (for information: it leaves some real
//   registers out, XIP_CTRL among them);
// - the few parts of the chip the boot ROM's own flash boot needs and rp2040js lacks
//   (modelBootPath below): it reads CHIP_RESET, the BOOTSEL button (the QSPI chip select
//   line) and boot2 from the flash over the SSI's serial interface;
// - a word written to MARK_ADDRESS (the watchdog's SCRATCH0, harmless on a real Pico)
//   records the core's cycle counter (Cortex-M0+ timings of each instruction) and the
//   instructions executed so far: the guest brackets the code it wants timed.
//
// The Python side (py_tools/emlml_dev/rp2040_board.py) starts this with
//   node run.mjs --modules DIR --bootrom bootrom-B1.bin --uf2 FIRMWARE.uf2 [--fs IMAGE]
// and talks JSON lines: on stdin {"op": "send", "data": base64} (queued, fed to the USB
// CDC's 512-byte FIFO as it drains), {"op": "stats"}, {"op": "quit"}; on stdout
// {"ev": "serial", "data": base64} (what the board printed), {"ev": "connected"},
// {"ev": "stats", ...counters}, {"ev": "mark", "value", "cycles", "instructions"},
// {"ev": "hardfault", "pc"}, {"ev": "halted", "reason"}.
//
// `node run.mjs --modules DIR --self-test` checks the counters on a few Thumb
// instructions placed in SRAM (no firmware needed) and exits 0 when they count right.

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import path from 'node:path';

const FLASH_START = 0x10000000;
const RAM_START = 0x20000000;
const FS_OFFSET = 0xa0000; // RPI_PICO: the littlefs filesystem region, 1408 KB
const MARK_ADDRESS = 0x4005800c; // WATCHDOG SCRATCH0
const EXC_HARDFAULT = 3;
const NANOS_PER_CYCLE = 8; // the firmware runs clk_sys at 125 MHz
const CHUNK = 200000; // instructions between two looks at stdin
const UF2_MAGIC = [0x0a324655, 0x9e5d5157, 0x0ab16f30];

function parseArgs(argv) {
  const args = { faultOnUnaligned: false, selfTest: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--fault-on-unaligned') args.faultOnUnaligned = true;
    else if (a === '--self-test') args.selfTest = true;
    else if (['--modules', '--bootrom', '--uf2', '--fs'].includes(a)) args[a.slice(2)] = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.modules) throw new Error('--modules DIR (the node_modules folder holding rp2040js) is required');
  return args;
}

function loadRp2040js(modules) {
  // CommonJS build, resolved from the folder `make rp2040-emulator` installed it in
  const require = createRequire(path.join(path.resolve(modules), 'emlml-harness.cjs'));
  return require('rp2040js');
}

/** Wraps the core's memory accessors and exception entry with the counters. */
class Checks {
  constructor(rp2040, { faultOnUnaligned = false, onMark = null, onHardFault = null } = {}) {
    this.rp2040 = rp2040;
    this.unaligned = 0;
    this.unalignedSamples = []; // the first few: {pc, address, size, write}
    this.hardFaults = 0;
    this.unknownInstructions = 0;
    this.invalidAccesses = 0;
    this.breakpoints = 0;
    this.instructions = 0;
    this.logLines = 0;
    this.faultOnUnaligned = faultOnUnaligned;
    this.onMark = onMark;
    this.pendingFault = false;
    this.instructionPC = 0;
    const core = rp2040.core;
    const bus = rp2040;
    const note = (address, size, write) => {
      this.unaligned++;
      if (this.unalignedSamples.length < 8) {
        this.unalignedSamples.push({ pc: this.instructionPC >>> 0, address: address >>> 0, size, write });
      }
      if (this.faultOnUnaligned) this.pendingFault = true;
    };
    core.readUint32 = (address) => {
      if (address & 3) note(address, 4, false);
      return bus.readUint32(address);
    };
    core.readUint16 = (address) => {
      if (address & 1) note(address, 2, false);
      return bus.readUint16(address);
    };
    core.writeUint32 = (address, value) => {
      if (address & 3) note(address, 4, true);
      else if (address === MARK_ADDRESS && this.onMark) this.onMark(value >>> 0, core.cycles, this.instructions);
      bus.writeUint32(address, value);
    };
    core.writeUint16 = (address, value) => {
      if (address & 1) note(address, 2, true);
      bus.writeUint16(address, value);
    };
    const entry = core.exceptionEntry.bind(core);
    core.exceptionEntry = (n) => {
      if (n === EXC_HARDFAULT) {
        this.hardFaults++;
        if (onHardFault) onHardFault(this.instructionPC >>> 0);
      }
      entry(n);
    };
    rp2040.logger = {
      debug() {},
      info() {},
      warn: (component, message) => this.log('warn', component, message),
      error: (component, message) => this.log('error', component, message),
    };
  }

  log(level, component, message) {
    if (message.includes('not implemented')) this.unknownInstructions++;
    else if (message.includes('invalid memory') || message.includes('undefined address')) this.invalidAccesses++;
    if (++this.logLines <= 40) {
      process.stderr.write(`rp2040js ${level}: ${component}: ${message}\n`);
    }
  }

  /** One instruction, then the HardFault a real M0+ would have taken on an unaligned
   * access (the faulting instruction's own effects are not undone: the fault handler
   * only reports and stops). Returns the cycles it took. */
  step() {
    const core = this.rp2040.core;
    this.instructionPC = core.PC;
    this.instructions++;
    const cycles = core.executeInstruction();
    if (this.pendingFault) {
      this.pendingFault = false;
      core.PC = this.instructionPC;
      core.exceptionEntry(EXC_HARDFAULT);
    }
    return cycles;
  }

  stats() {
    return {
      unaligned: this.unaligned, unaligned_samples: this.unalignedSamples,
      hard_faults: this.hardFaults, unknown_instructions: this.unknownInstructions,
      invalid_accesses: this.invalidAccesses, breakpoints: this.breakpoints,
      cycles: this.rp2040.core.cycles, instructions: this.instructions,
    };
  }
}

function loadUf2(rp2040, data) {
  let blocks = 0;
  for (let off = 0; off + 512 <= data.length; off += 512) {
    const view = new DataView(data.buffer, data.byteOffset + off, 512);
    if (view.getUint32(0, true) !== UF2_MAGIC[0] || view.getUint32(4, true) !== UF2_MAGIC[1]
        || view.getUint32(508, true) !== UF2_MAGIC[2]) {
      throw new Error(`UF2 block ${off / 512}: bad magic`);
    }
    const target = view.getUint32(12, true);
    const size = view.getUint32(16, true);
    if (target < FLASH_START || target + size > FLASH_START + rp2040.flash.length) {
      throw new Error(`UF2 block ${off / 512}: target ${target.toString(16)} is outside flash`);
    }
    rp2040.flash.set(data.subarray(off + 32, off + 32 + size), target - FLASH_START);
    blocks++;
  }
  if (!blocks) throw new Error('UF2 file holds no blocks');
  return blocks;
}

/** What the boot ROM's flash boot path (reset vector -> flash_boot -> boot2 from SPI
 * flash, CRC-checked -> the firmware) touches and rp2040js does not model. */
function modelBootPath(lib, rp2040) {
  // VREG_AND_CHIP_RESET: rp2040js reads 0xffffffff there, and a set PSM_RESTART_FLAG
  // (CHIP_RESET bit 24) sends the boot ROM to sleep as after a debugger's rescue reset.
  // Power-on state: VREG 0xb1, BOD 0x91, CHIP_RESET HAD_POR (bit 8).
  class ChipReset extends lib.BasePeripheral {
    constructor() { super(rp2040, 'VREG_AND_CHIP_RESET'); this.regs = [0xb1, 0x91, 0x100]; }
    readUint32(offset) { return offset < 12 ? this.regs[offset >> 2] : super.readUint32(offset); }
    writeUint32(offset, value) {
      if (offset === 8) this.regs[2] &= ~(value & 0x01000000); // PSM_RESTART_FLAG: write 1 to clear
      else if (offset < 8) this.regs[offset >> 2] = value;
      else super.writeUint32(offset, value);
    }
  }
  rp2040.peripherals[0x40064] = new ChipReset();
  // BOOTSEL not pressed: the QSPI SS pad at its reset value (input enabled, pull-up), the
  // line high (rp2040js's pads reset with the input disabled: the ROM reads "pressed")
  rp2040.qspi[1].padValue = 0x5a;
  rp2040.qspi[1].setInputValue(true);
  // The SPI flash behind the SSI in serial mode: chip select from IO_QSPI's
  // GPIO_QSPI_SS_CTRL output override (0x200 low, 0x300 high), each byte written to DR0
  // answered by one byte in the RX FIFO. 0x03 (read data) returns flash contents; other
  // commands answer 0 (status registers: idle, nothing to wait for).
  const ssi = rp2040.peripherals[(0x18000000 >>> 14) << 2];
  const ioQspi = rp2040.peripherals[(0x40018000 >>> 14) << 2];
  const rx = [];
  let selected = false, command = [], address = 0;
  const ioWrite = ioQspi.writeUint32.bind(ioQspi);
  const ioRead = ioQspi.readUint32.bind(ioQspi);
  let ssCtrl = 0;
  ioQspi.readUint32 = (offset) => (offset === 0x0c ? ssCtrl : ioRead(offset));
  ioQspi.writeUint32 = (offset, value) => {
    if (offset !== 0x0c) { ioWrite(offset, value); return; }
    ssCtrl = value;
    const low = ((value >> 8) & 3) === 2;
    if (low && !selected) { command = []; address = 0; }
    selected = low;
  };
  const spiByte = (byte) => {
    if (!selected) return 0;
    if (command.length < 4) {
      command.push(byte);
      if (command.length === 4 && command[0] === 0x03) address = (command[1] << 16) | (command[2] << 8) | command[3];
      return 0;
    }
    if (command[0] === 0x03) return address < rp2040.flash.length ? rp2040.flash[address++] : 0xff;
    return 0;
  };
  const ssiRead = ssi.readUint32.bind(ssi);
  const ssiWrite = ssi.writeUint32.bind(ssi);
  ssi.readUint32 = (offset) => {
    if (offset === 0x60) return rx.length ? rx.shift() : 0; // DR0
    if (offset === 0x24) return rx.length; // RXFLR
    if (offset === 0x20) return 0; // TXFLR: every byte goes out at once
    if (offset === 0x28) return 0x06 | (rx.length ? 0x08 : 0); // SR: TFE, TFNF, RFNE
    return ssiRead(offset);
  };
  ssi.writeUint32 = (offset, value) => {
    if (offset === 0x60) { rx.push(spiByte(value & 0xff)); if (rx.length > 64) rx.shift(); }
    else if (offset === 0x08 && !value) rx.length = 0; // SSIENR off empties the FIFOs
    ssiWrite(offset, value);
  };
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function runBoard(lib, args) {
  const rp2040 = new lib.RP2040();
  const bootrom = readFileSync(args.bootrom);
  if (bootrom.length !== 16384) throw new Error(`${args.bootrom}: ${bootrom.length} bytes, a boot ROM has 16384`);
  // loadBootrom resets the chip, which erases flash: flash comes after
  rp2040.loadBootrom(new Uint32Array(bootrom.buffer, bootrom.byteOffset, bootrom.length / 4));
  loadUf2(rp2040, readFileSync(args.uf2));
  if (args.fs) {
    const image = readFileSync(args.fs);
    if (image.length > 1408 * 1024) throw new Error(`${args.fs}: larger than the 1408 KB filesystem region`);
    rp2040.flash.set(image, FS_OFFSET);
  }
  modelBootPath(lib, rp2040);
  // start at the boot ROM's reset vector, as the chip does
  rp2040.core.SP = rp2040.bootrom[0];
  rp2040.core.PC = rp2040.bootrom[1] & ~1;

  let halted = null;
  const checks = new Checks(rp2040, {
    faultOnUnaligned: args.faultOnUnaligned,
    onMark: (value, cycles, instructions) => emit({ ev: 'mark', value, cycles, instructions }),
    onHardFault: (pc) => emit({ ev: 'hardfault', pc }),
  });
  rp2040.onBreak = (code) => {
    checks.breakpoints++;
    halted = `BKPT ${code} at pc ${(rp2040.core.PC >>> 0).toString(16)} (hard faults: ${checks.hardFaults})`;
  };

  const cdc = new lib.USBCDC(rp2040.usbCtrl);
  const pending = []; // input chunks not yet in the CDC FIFO
  let pendingPos = 0;
  cdc.onDeviceConnected = () => emit({ ev: 'connected' });
  cdc.onSerialData = (buffer) => emit({ ev: 'serial', data: Buffer.from(buffer).toString('base64') });
  const feed = () => {
    const fifo = cdc.txFIFO;
    while (pending.length && !fifo.full) {
      const chunk = pending[0];
      while (pendingPos < chunk.length && !fifo.full) cdc.sendSerialByte(chunk[pendingPos++]);
      if (pendingPos === chunk.length) { pending.shift(); pendingPos = 0; }
    }
  };

  let quit = false;
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (!line.trim()) return;
    const msg = JSON.parse(line);
    if (msg.op === 'send') pending.push(Buffer.from(msg.data, 'base64'));
    else if (msg.op === 'stats') emit({ ev: 'stats', ...checks.stats(), halted });
    else if (msg.op === 'quit') quit = true;
  });
  input.on('close', () => { quit = true; });

  const clock = rp2040.clock;
  let haltReported = false;
  const run = () => {
    if (quit) {
      emit({ ev: 'stats', ...checks.stats(), halted });
      process.exit(0);
    }
    if (halted) {
      if (!haltReported) { emit({ ev: 'halted', reason: halted }); haltReported = true; }
      setTimeout(run, 20);
      return;
    }
    feed();
    for (let i = 0; i < CHUNK && !halted; i++) {
      if (rp2040.core.waiting) {
        const nanos = clock.nanosToNextAlarm;
        clock.tick(nanos);
        i += nanos / NANOS_PER_CYCLE;
      } else {
        clock.tick(checks.step() * NANOS_PER_CYCLE);
      }
      if ((i & 0x3ff) === 0) feed();
    }
    setImmediate(run);
  };
  run();
}

// --------------------------------------------------------------------------- self-test

function selfTest(lib) {
  const failures = [];
  const expect = (what, got, want) => {
    if (got !== want) failures.push(`${what}: got ${got}, want ${want}`);
  };
  // Thumb code at SRAM 0x20000000; r0 holds a data address in SRAM.
  const CODE = RAM_START, DATA = RAM_START + 0x1000;
  const program = (r0, halfwords) => {
    const rp2040 = new lib.RP2040();
    const checks = new Checks(rp2040, {});
    rp2040.logger = { debug() {}, info() {}, warn() {}, error() {} };
    halfwords.forEach((h, i) => rp2040.sramView.setUint16(CODE - RAM_START + 2 * i, h, true));
    // a vector table at 0x20002000 whose HardFault vector points at a BKPT
    rp2040.sramView.setUint32(0x2000 + 4 * EXC_HARDFAULT, (CODE + 0x100) | 1, true);
    rp2040.sramView.setUint16(0x100, 0xbe00, true); // bkpt #0
    rp2040.core.VTOR = RAM_START + 0x2000;
    rp2040.core.SP = RAM_START + 0x3000;
    rp2040.core.PC = CODE;
    rp2040.core.registers[0] = r0;
    return { rp2040, checks };
  };
  const run = ({ checks }, n) => { for (let i = 0; i < n; i++) checks.step(); };
  // ldr r1,[r0]; ldrh r2,[r0]; str r1,[r0,#4]; strh r2,[r0,#8]; ldrb r3,[r0]; strb r3,[r0]
  const code = [0x6801, 0x8802, 0x6041, 0x8102, 0x7803, 0x7003];
  const aligned = program(DATA, code);
  run(aligned, code.length);
  expect('aligned accesses counted as unaligned', aligned.checks.unaligned, 0);
  const odd = program(DATA + 1, code);
  run(odd, code.length);
  expect('unaligned accesses at an odd address (ldr, ldrh, str, strh)', odd.checks.unaligned, 4);
  expect('no HardFault without --fault-on-unaligned', odd.checks.hardFaults, 0);
  const two = program(DATA + 2, code);
  run(two, code.length);
  expect('unaligned accesses at address 2 mod 4 (ldr, str)', two.checks.unaligned, 2);
  // the same code with the fault a real M0+ takes: HardFault entry at the ldr
  const faulting = program(DATA + 1, code);
  faulting.checks.faultOnUnaligned = true;
  run(faulting, 1);
  expect('HardFault entries', faulting.checks.hardFaults, 1);
  expect('HardFault handler reached', (faulting.rp2040.core.PC & ~1) >>> 0, CODE + 0x100);
  expect('stacked return address is the faulting ldr',
    faulting.rp2040.sramView.getUint32(faulting.rp2040.core.SP - RAM_START + 0x18, true), CODE);
  // marks: str r1,[r0] twice around two nops records the instructions between them
  const marks = [];
  const marked = program(MARK_ADDRESS, [0x6001, 0xbf00, 0xbf00, 0x6001]);
  marked.checks.onMark = (value, cycles, instructions) => marks.push([cycles, instructions]);
  run(marked, 4);
  expect('marks recorded', marks.length, 2);
  expect('instructions between two marks', marks.length === 2 ? marks[1][1] - marks[0][1] : -1, 3);
  if (failures.length) {
    for (const f of failures) console.log('FAIL:', f);
    process.exit(1);
  }
  console.log('rp2040 harness self-test: OK');
}

const args = parseArgs(process.argv.slice(2));
const lib = loadRp2040js(args.modules);
if (args.selfTest) selfTest(lib);
else runBoard(lib, args);
