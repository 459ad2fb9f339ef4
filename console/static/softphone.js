/*
 * The operator console's softphone: JsSIP (console/static/vendor/jssip.min.js, loaded first) over
 * Asterisk's SIP WebSocket (/ws), audio over WebRTC (DTLS-SRTP, Opus).
 *
 * A plain script: no modules, no eval, no inline script, so it runs under a
 * Content-Security-Policy of `script-src 'self'` (connect-src must allow the WebSocket URL).
 *
 * Configuration is JSON data in the page, never code:
 *
 *   <script type="application/json" id="softphone-config">
 *     {"server": "wss://console.example/ws", "user": "op-alice", "ha1": "…",
 *      "realm": "hotline-96010", "domain": "hotline-96010.invalid", "displayName": "Alice",
 *      "autoAnswer": false,
 *      "audioElement": "softphone-audio", "iceServers": []}
 *   </script>
 *
 *   server       the WebSocket URL (ws:// only for tests on one machine; browsers need https
 *                and so wss:// for the microphone anywhere else)
 *   user         the operator's PJSIP endpoint, e.g. op-alice
 *   ha1, realm   its digest credentials: md5(user:realm:password) and the realm Asterisk
 *                challenges with (the console gives these, never a password)
 *   password     a plain auth password instead (test pages; "" for an endpoint without auth)
 *   domain       SIP domain of the operator's URI (default: the server's host name)
 *   autoAnswer   answer incoming calls at once (tests; a console shows answer/hang-up buttons)
 *   audioElement id of the <audio> element for the caller's voice (default: one is created)
 *   iceServers   RTCPeerConnection ICE servers (default none: on a LAN host candidates suffice,
 *                and an unreachable STUN server only delays every call)
 *   autoStart    connect and register when the page loads (default true)
 *   register     REGISTER at start (default true; false: outgoing calls only, e.g. the
 *                residents' /phone page, whose endpoint needs no registration)
 *   debug        JsSIP's own debug log in the console (default false)
 *
 * State changes are DOM CustomEvents on `document`, named `softphone:<name>`, with a `detail`
 * that always carries `at` (epoch milliseconds) and `state` (a snapshot, see Softphone.snapshot):
 *
 *   connecting, connected, disconnected             the WebSocket
 *   registered, unregistered, registrationfailed    the REGISTER (detail.cause)
 *   incoming     a call rings (detail.from, detail.displayName, detail.callId, detail.headers)
 *   outgoing     a call is placed (detail.to)
 *   progress, accepted, confirmed                   SIP progress of the call
 *   microphone   the result of prepareMicrophone() (detail.ok, detail.error)
 *   ice          ICE candidate gathering (detail.ice: gathering, complete); JsSIP sends the
 *                SDP once it is complete
 *   media        the peer connection state (detail.media: new, connecting, connected, failed,
 *                disconnected, closed); `connected` means ICE and DTLS are up
 *   muted, unmuted, hold, unhold                    (detail.originator for hold: local|remote)
 *   transfer     a blind transfer (detail.target, detail.result: requested, trying,
 *                accepted, failed)
 *   ended, failed                                   the call is over (detail.originator,
 *                                                   detail.cause)
 *   state        after every one of the above
 *
 * `window.hotlineSoftphone` is the page's Softphone (`history` keeps its last events):
 *
 *   prepareMicrophone()         ask for the microphone at login; Promise of true/false
 *   answer(), hangup()          the ringing or current call (hangup also rejects a ringing one)
 *   dial(target)                an outgoing call ("96010" or a SIP URI), in from-operators
 *   dtmf(tones)                 send keypad tones in the call (RFC 4733, as a phone does)
 *   mute(), unmute()            the operator's microphone
 *   hold(), unhold()            re-INVITE; Promises resolved when Asterisk accepted
 *   transfer(target)            blind transfer (REFER); Promise of "accepted" or "failed"
 *   getStats()                  Promise of the call's audio statistics (see below)
 *   snapshot()                  the current state: connection, registration, call, media,
 *                               muted, held, remote
 */
(function () {
  'use strict';

  var PREFIX = 'softphone:';
  var HISTORY_LIMIT = 500;

  function now() {
    return performance.timeOrigin + performance.now();
  }

  function readConfig(doc, id) {
    var element = doc.getElementById(id || 'softphone-config');
    if (!element) {
      return null;
    }
    return JSON.parse(element.textContent || '{}');
  }

  function hostOf(url) {
    try {
      return new URL(url).hostname;
    } catch (e) {
      return '';
    }
  }

  class Softphone {
    constructor(config, doc) {
      if (typeof JsSIP === 'undefined') {
        throw new Error('softphone: vendor/jssip.min.js must be loaded first');
      }
      if (!config || !config.server || !config.user) {
        throw new Error('softphone: the configuration needs "server" and "user"');
      }
      this.doc = doc || document;
      this.config = Object.assign({
        autoAnswer: false, iceServers: [], autoStart: true, debug: false, register: true,
      }, config);
      this.domain = this.config.domain || hostOf(this.config.server);
      this.ua = null;
      this.session = null;
      this.connection = 'disconnected';
      this.registration = 'unregistered';
      this.call = 'idle';
      this.media = 'none';
      this.muted = false;
      this.held = false;
      this.remote = null;
      this.history = [];
      this.audio = this._audioElement();
    }

    // ------------------------------------------------------------------ registration

    start() {
      if (this.ua) {
        return;
      }
      if (this.config.debug) {
        JsSIP.debug.enable('JsSIP:*');
      } else {
        JsSIP.debug.disable();
      }
      var socket = new JsSIP.WebSocketInterface(this.config.server);
      this.ua = new JsSIP.UA({
        sockets: [socket],
        uri: 'sip:' + this.config.user + '@' + this.domain,
        // a digest (ha1 + realm) when given: the page never holds the password
        password: this.config.ha1 ? undefined : this.config.password,
        ha1: this.config.ha1 || undefined,
        realm: this.config.ha1 ? this.config.realm : undefined,
        display_name: this.config.displayName || undefined,
        register: this.config.register !== false,
        session_timers: false,
        user_agent: '96010-console-softphone',
      });
      var self = this;
      this.ua.on('connecting', function () { self._set({ connection: 'connecting' }, 'connecting'); });
      this.ua.on('connected', function () { self._set({ connection: 'connected' }, 'connected'); });
      this.ua.on('disconnected', function () {
        self._set({ connection: 'disconnected' }, 'disconnected');
      });
      this.ua.on('registered', function () {
        self._set({ registration: 'registered' }, 'registered');
      });
      this.ua.on('unregistered', function () {
        self._set({ registration: 'unregistered' }, 'unregistered');
      });
      this.ua.on('registrationFailed', function (e) {
        self._set({ registration: 'failed' }, 'registrationfailed', { cause: e.cause });
      });
      this.ua.on('newRTCSession', function (e) { self._newSession(e); });
      this._emit('starting', {});
      this.ua.start();
    }

    stop() {
      if (this.ua) {
        this.ua.stop();
        this.ua = null;
      }
    }

    // ------------------------------------------------------------------ calls

    answer() {
      var session = this.session;
      if (!session || this.call !== 'incoming') {
        return false;
      }
      this._set({ call: 'answering' }, 'answering');
      session.answer(this._callOptions());
      return true;
    }

    hangup() {
      if (!this.session) {
        return false;
      }
      this.session.terminate();
      return true;
    }

    dial(target) {
      if (!this.ua || this.session) {
        return false;
      }
      this.ua.call(target, this._callOptions());
      return true;
    }

    dtmf(tones) {
      if (!this._established()) {
        return false;
      }
      this.session.sendDTMF(String(tones), { transportType: 'RFC2833', duration: 160 });
      this._emit('dtmf', { tones: String(tones) });
      return true;
    }

    mute() {
      if (!this._established()) {
        return false;
      }
      this.session.mute({ audio: true });
      return true;
    }

    unmute() {
      if (!this._established()) {
        return false;
      }
      this.session.unmute({ audio: true });
      return true;
    }

    // Resolves when Asterisk accepted the re-INVITE (a=sendonly); a refused re-INVITE ends the
    // call (JsSIP's behaviour) and the promise rejects.
    hold() {
      return this._reoffer('hold');
    }

    unhold() {
      return this._reoffer('unhold');
    }

    // Blind transfer (REFER): the caller goes to `target` (a SIP URI, or an extension of the
    // operator's dialplan context, e.g. "96010") and this call ends. Resolves with the
    // transfer's outcome ("accepted" or "failed").
    transfer(target) {
      var self = this;
      var session = this.session;
      if (!this._established()) {
        return Promise.reject(new Error('no established call to transfer'));
      }
      return new Promise(function (resolve, reject) {
        function report(result, extra) {
          self._emit('transfer', Object.assign({ target: target, result: result }, extra || {}));
        }
        try {
          session.refer(target, {
            eventHandlers: {
              requestSucceeded: function () { report('requested'); },
              requestFailed: function (e) {
                report('failed', { cause: e.cause });
                resolve('failed');
              },
              trying: function () { report('trying'); },
              accepted: function () {
                report('accepted');
                resolve('accepted');
                // Asterisk hangs the operator's leg up after a blind transfer; make sure.
                if (self.session === session && !session.isEnded()) {
                  session.terminate();
                }
              },
              failed: function () {
                report('failed');
                resolve('failed');
              },
            },
          });
        } catch (error) {
          reject(error);
        }
      });
    }

    // Ask for the microphone once, before any call: the browser's permission prompt then
    // comes at login (call it from a click), not while a resident waits, and the audio device
    // is initialised (the first answer is faster). Resolves true or false.
    prepareMicrophone() {
      var self = this;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        this._emit('microphone', { ok: false, error: 'getUserMedia unavailable (not https?)' });
        return Promise.resolve(false);
      }
      return navigator.mediaDevices.getUserMedia({ audio: true, video: false })
        .then(function (stream) {
          stream.getTracks().forEach(function (track) { track.stop(); });
          self._emit('microphone', { ok: true });
          return true;
        }, function (error) {
          self._emit('microphone', { ok: false, error: String(error) });
          return false;
        });
    }

    // ------------------------------------------------------------------ stats

    // A plain object of the call's WebRTC statistics (null without a call): inbound audio
    // (what the operator hears), outbound audio (what the operator says), the local source and
    // the selected ICE candidate pair.
    async getStats() {
      var pc = this.session && this.session.connection;
      if (!pc) {
        return null;
      }
      var report = await pc.getStats();
      var out = {
        inbound: null, outbound: null, source: null, transport: null, pair: null, codec: null,
        local: null, remote: null,
      };
      var byId = {};
      report.forEach(function (s) { byId[s.id] = s; });
      report.forEach(function (s) {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          out.inbound = {
            bytesReceived: s.bytesReceived, packetsReceived: s.packetsReceived,
            packetsLost: s.packetsLost, jitter: s.jitter, audioLevel: s.audioLevel,
            totalAudioEnergy: s.totalAudioEnergy, totalSamplesDuration: s.totalSamplesDuration,
          };
          if (s.codecId && byId[s.codecId]) {
            out.codec = byId[s.codecId].mimeType + '/' + byId[s.codecId].clockRate;
          }
        } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
          out.outbound = { bytesSent: s.bytesSent, packetsSent: s.packetsSent };
        } else if (s.type === 'media-source' && s.kind === 'audio') {
          out.source = { audioLevel: s.audioLevel, totalAudioEnergy: s.totalAudioEnergy };
        } else if (s.type === 'transport') {
          out.transport = {
            dtlsState: s.dtlsState, iceState: s.iceState, srtpCipher: s.srtpCipher,
            tlsVersion: s.tlsVersion,
          };
          var pair = s.selectedCandidatePairId && byId[s.selectedCandidatePairId];
          if (pair) {
            out.pair = { state: pair.state, currentRoundTripTime: pair.currentRoundTripTime };
            var local = byId[pair.localCandidateId];
            var remote = byId[pair.remoteCandidateId];
            out.local = local ? (local.address + ':' + local.port + ' ' + local.candidateType)
              : null;
            out.remote = remote ? (remote.address + ':' + remote.port + ' ' + remote.candidateType)
              : null;
          }
        }
      });
      return out;
    }

    snapshot() {
      return {
        connection: this.connection, registration: this.registration, call: this.call,
        media: this.media, muted: this.muted, held: this.held, remote: this.remote,
      };
    }

    // ------------------------------------------------------------------ internals

    _callOptions() {
      return {
        mediaConstraints: { audio: true, video: false },
        pcConfig: { iceServers: this.config.iceServers },
        rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
      };
    }

    _established() {
      return this.session !== null && this.call === 'active';
    }

    _reoffer(kind) {
      var self = this;
      var session = this.session;
      if (!this._established()) {
        return Promise.reject(new Error('no established call to ' + kind));
      }
      return new Promise(function (resolve, reject) {
        var onEnd = function () { reject(new Error(kind + ' failed: the call ended')); };
        session.once('ended', onEnd);
        session.once('failed', onEnd);
        var started = session[kind]({}, function () {
          session.removeListener('ended', onEnd);
          session.removeListener('failed', onEnd);
          self._emit(kind + 'done', {});
          resolve(kind);
        });
        if (!started) {
          session.removeListener('ended', onEnd);
          session.removeListener('failed', onEnd);
          reject(new Error(kind + ' is not possible now'));
        }
      });
    }

    _newSession(e) {
      var session = e.session;
      var self = this;
      if (this.session) {
        // One call at a time (the endpoint is busy at one call, so this is rare).
        if (e.originator === 'remote') {
          session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
        }
        return;
      }
      this.session = session;
      var identity = session.remote_identity;
      this.remote = identity ? identity.uri.user : null;
      session.on('peerconnection', function (ev) { self._watch(ev.peerconnection); });
      if (session.connection) {
        this._watch(session.connection);
      }
      session.on('progress', function () { self._emit('progress', {}); });
      session.on('accepted', function () { self._set({ call: 'active' }, 'accepted'); });
      session.on('confirmed', function () { self._set({ call: 'active' }, 'confirmed'); });
      session.on('muted', function () { self._set({ muted: true }, 'muted'); });
      session.on('unmuted', function () { self._set({ muted: false }, 'unmuted'); });
      session.on('hold', function (ev) {
        if (ev.originator === 'local') {
          self._set({ held: true }, 'hold', { originator: 'local' });
        } else {
          self._emit('hold', { originator: 'remote' });
        }
      });
      session.on('unhold', function (ev) {
        if (ev.originator === 'local') {
          self._set({ held: false }, 'unhold', { originator: 'local' });
        } else {
          self._emit('unhold', { originator: 'remote' });
        }
      });
      var finish = function (name) {
        return function (ev) {
          if (self.session !== session) {
            return;
          }
          self.session = null;
          if (self.audio) {
            self.audio.srcObject = null;
          }
          self._set({ call: 'idle', media: 'none', muted: false, held: false, remote: null },
            name, { originator: ev.originator, cause: ev.cause });
        };
      };
      session.on('ended', finish('ended'));
      session.on('failed', finish('failed'));

      if (e.originator === 'remote') {
        var request = e.request;
        var headers = {};
        Object.keys(request.headers || {}).forEach(function (name) {
          if (/^x-/i.test(name)) {
            headers[name] = request.getHeader(name);
          }
        });
        this._set({ call: 'incoming' }, 'incoming', {
          from: this.remote,
          displayName: identity ? identity.display_name : null,
          callId: request.call_id,
          headers: headers,
        });
        if (this.config.autoAnswer) {
          this.answer();
        }
      } else {
        this._set({ call: 'outgoing' }, 'outgoing', { to: this.remote });
      }
    }

    _watch(pc) {
      var self = this;
      pc.addEventListener('track', function (ev) {
        if (ev.track.kind !== 'audio' || !self.audio) {
          return;
        }
        self.audio.srcObject = ev.streams && ev.streams[0] ? ev.streams[0]
          : new MediaStream([ev.track]);
        var playing = self.audio.play();
        if (playing && playing.catch) {
          playing.catch(function (error) { self._emit('audioblocked', { error: String(error) }); });
        }
      });
      pc.addEventListener('icegatheringstatechange', function () {
        self._emit('ice', { ice: pc.iceGatheringState });
      });
      pc.addEventListener('connectionstatechange', function () {
        self._set({ media: pc.connectionState }, 'media', { media: pc.connectionState });
      });
    }

    _audioElement() {
      var id = this.config.audioElement;
      var element = id ? this.doc.getElementById(id) : null;
      if (!element) {
        element = this.doc.createElement('audio');
        element.hidden = true;
        (this.doc.body || this.doc.documentElement).appendChild(element);
      }
      element.autoplay = true;
      return element;
    }

    _set(changes, name, detail) {
      Object.assign(this, changes);
      this._emit(name, detail || {});
    }

    _emit(name, detail) {
      var full = Object.assign({ at: now(), state: this.snapshot() }, detail);
      this.history.push({ name: name, detail: full });
      if (this.history.length > HISTORY_LIMIT) {
        this.history.shift();
      }
      this.doc.dispatchEvent(new CustomEvent(PREFIX + name, { detail: full }));
      if (name !== 'state') {
        this.doc.dispatchEvent(new CustomEvent(PREFIX + 'state',
          { detail: { at: full.at, state: full.state, cause: name } }));
      }
    }
  }

  window.Softphone = Softphone;

  function boot() {
    var config = readConfig(document);
    if (!config) {
      return;
    }
    var phone = new Softphone(config, document);
    window.hotlineSoftphone = phone;
    if (phone.config.autoStart) {
      phone.start();
    }
    // Unregister when the page goes away, so that the queue does not ring a closed console.
    window.addEventListener('pagehide', function () { phone.stop(); });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', boot);
  } else {
    boot();
  }
}());
