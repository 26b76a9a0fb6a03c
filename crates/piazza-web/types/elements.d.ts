// The client's custom elements, so `document.createElement('pz-…')` is
// typed as its class when the modules are type-checked (jsconfig.json).
// Not served: only assets/ is.

interface HTMLElementTagNameMap {
  'pz-qr-login': import('../assets/areas/auth/qr-login.js').QrLogin;
  'pz-chat-list': import('../assets/areas/chat/list.js').ChatList;
  'pz-conversation': import('../assets/areas/chat/conversation.js').Conversation;
  'pz-balance': import('../assets/areas/wallet/index.js').Balance;
  'pz-payment-code': import('../assets/areas/wallet/payment-code.js').PaymentCode;
  'pz-transfer-card': import('../assets/areas/wallet/chat.js').TransferCard;
  'pz-red-packet-card': import('../assets/areas/wallet/chat.js').RedPacketCard;
}
